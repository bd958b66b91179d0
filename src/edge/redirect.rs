//! `GET|HEAD /{handle}/{slug}`: the redirect. The hot path.
//!
//! Reads come from the isolate cache (one D1 round trip per link and per
//! handle's rules at most every `CACHE_TTL_MS`, both in parallel when cold);
//! the decision is the pure `core::redirect::decide`; the click is recorded
//! after the response is sent (`wait_until`), so the visitor never waits on
//! D1 or the rollup.

use crate::core::funnel::{Dims, EventKind, RollupEvent};
use crate::core::ids::{ClickId, Handle, Slug};
use crate::core::link::TrackingMode;
use crate::core::redirect::{decide, ClickFacts, Incoming, LinkView};
use crate::core::time::hour_floor;
use crate::edge::cache::{self, LinkEntry};
use crate::edge::db::{b, i, os, s, Db};
use crate::edge::http::{self, log_event, respond, ApiResult};
use crate::edge::{rollup, rules, Ctx};
use serde::Deserialize;
use std::rc::Rc;
use worker::{Env, Headers, Request, Response};

#[derive(Deserialize)]
struct LinkJoinRow {
    destination_url: String,
    campaign_id: Option<String>,
    mode: String,
    append_context: i64,
    context_param_name: String,
    forward_query: i64,
    campaign_status: Option<String>,
}

async fn load_link(ctx: &Ctx, h: &str, slug: &str, now: i64) -> ApiResult<Option<Rc<LinkEntry>>> {
    if let Some(hit) = cache::get_link(h, slug, now, ctx.cfg.cache_ttl_ms) {
        return Ok(hit);
    }
    let row = ctx
        .db
        .first::<LinkJoinRow>(
            "SELECT l.destination_url, l.campaign_id, l.mode, l.append_context, l.context_param_name, l.forward_query, \
             c.status AS campaign_status FROM links l LEFT JOIN campaigns c \
             ON c.handle = l.handle AND c.campaign_id = l.campaign_id WHERE l.handle = ? AND l.slug = ?",
            &[s(h), s(slug)],
        )
        .await?;
    let entry = row.map(|r| {
        Rc::new(LinkEntry {
            policy: crate::core::link::TrackingPolicy {
                mode: TrackingMode::parse(&r.mode).unwrap_or(TrackingMode::Direct),
                append_context_param: r.append_context != 0,
                context_param_name: r.context_param_name,
                forward_query: r.forward_query != 0,
            },
            destination_url: r.destination_url,
            campaign_id: r.campaign_id,
            campaign_status: r.campaign_status,
        })
    });
    cache::put_link(h, slug, now, entry.clone());
    Ok(entry)
}

fn not_found_page() -> Response {
    let h = Headers::new();
    let _ = h.set("content-type", "text/html; charset=utf-8");
    let _ = h.set("cache-control", "no-store");
    respond(
        404,
        h,
        b"<!doctype html><meta charset=utf-8><title>Link not found</title>\
          <h1>Link not found</h1><p>This short link does not exist or was removed.</p>"
            .to_vec(),
    )
}

pub async fn redirect(ctx: &Ctx, req: &Request, h: &Handle, slug: &Slug) -> ApiResult<Response> {
    let now = http::now_ms();
    let (link, rules) = futures_util::future::join(
        load_link(ctx, h.as_str(), slug.as_str(), now),
        rules::for_redirect(ctx, h.as_str(), now),
    )
    .await;
    let Some(link) = link? else {
        return Ok(not_found_page());
    };
    // Rules failing to load must not stop the visitor: fall back to the link.
    let rules = rules.unwrap_or_else(|e| {
        log_event("rules_load_failed", &e.to_string());
        Rc::new(Vec::new())
    });
    let tracking =
        link.campaign_status.as_deref() == Some("ACTIVE") && link.policy.mode != TrackingMode::Off;
    let click_id = if link.policy.append_context_param || tracking {
        Some(ClickId::generate()?)
    } else {
        None
    };

    let url = req.url()?;
    let ua = http::header(req, "user-agent").unwrap_or_default();
    let referer = http::header(req, "referer");
    let cf = req.cf();
    let bm = cf.and_then(|c| c.bot_management());
    let country = cf.and_then(|c| c.country());
    let inc = Incoming {
        user_agent: &ua,
        referer: referer.as_deref(),
        query: url.query(),
        country: country.as_deref(),
        is_head: req.method() == worker::Method::Head,
        verified_bot: bm.as_ref().is_some_and(|b| b.verified_bot()),
        bot_score: bm.as_ref().map(|b| b.score()),
    };
    let view = LinkView {
        slug: slug.as_str(),
        destination_url: &link.destination_url,
        campaign_id: link.campaign_id.as_deref(),
        policy: &link.policy,
    };
    let d = decide(&view, &rules, &inc, click_id.as_ref().map(|c| c.as_str()));

    let headers = Headers::new();
    headers.set("location", &d.location)?;
    headers.set("cache-control", "no-store")?;
    headers.set("referrer-policy", "no-referrer-when-downgrade")?;
    let resp = respond(302, headers, Vec::new());

    if let (true, Some(id), Some(campaign)) = (tracking, click_id, link.campaign_id.clone()) {
        let job = Recording {
            env: ctx.env.clone(),
            db: ctx.db.clone(),
            shards: ctx.cfg.rollup_shards,
            handle: h.clone(),
            slug: slug.as_str().to_string(),
            campaign,
            mode: link.policy.mode,
            click_id: id,
            facts: d.facts,
            ts: now,
        };
        ctx.wctx.wait_until(job.run());
    }
    Ok(resp)
}

/// A click to record after the response went out.
struct Recording {
    env: Env,
    db: Db,
    shards: u32,
    handle: Handle,
    slug: String,
    campaign: String,
    mode: TrackingMode,
    click_id: ClickId,
    facts: ClickFacts,
    ts: i64,
}

impl Recording {
    async fn run(self) {
        let ledger = match self.mode {
            TrackingMode::Direct => self.write_click().await,
            TrackingMode::AggregateOnly => self.write_aggregate().await,
            TrackingMode::Off => return,
        };
        // The ledger comes first: a rollup count without a ledger row could
        // never be rebuilt. Both writes are retried; failures are logged.
        if let Err(e) = ledger {
            log_event(
                "click_ledger_failed",
                &format!("{} {}: {e}", self.handle, self.click_id),
            );
            return;
        }
        let f = &self.facts;
        let event = RollupEvent {
            id: self.click_id.as_str().to_string(),
            kind: EventKind::Click,
            ts: self.ts,
            bot: f.bot_reason.is_some(),
            dims: Some(Dims {
                source: f.source.clone(),
                country: f.country.clone(),
                device: f.device.lower().to_string(),
                segment: f.segment.clone(),
                link: self.slug.clone(),
                rule: f.rule_id.clone(),
            }),
            value_cents: 0,
            currency: None,
            count: 1,
        };
        if let Err(e) = rollup::apply_retrying(
            &self.env,
            &self.handle,
            &self.campaign,
            self.shards,
            vec![event],
        )
        .await
        {
            log_event(
                "click_rollup_failed",
                &format!("{} {}: {e}", self.handle, self.click_id),
            );
        }
    }

    async fn retry<F, Fut>(f: F) -> ApiResult<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ApiResult<usize>>,
    {
        let mut last = Ok(());
        for attempt in 0..3u64 {
            if attempt > 0 {
                worker::Delay::from(std::time::Duration::from_millis(50 * attempt)).await;
            }
            match f().await {
                Ok(_) => return Ok(()),
                Err(e) => last = Err(e),
            }
        }
        last
    }

    async fn write_click(&self) -> ApiResult<()> {
        let f = &self.facts;
        let args = [
            s(self.click_id.as_str()),
            s(self.handle.as_str()),
            s(&self.slug),
            s(&self.campaign),
            os(f.rule_id.as_deref()),
            os(f.variant_id.as_deref()),
            s(&f.country),
            s(f.device.as_str()),
            s(&f.source),
            os(f.referrer_host.as_deref()),
            s(&f.segment),
            b(f.bot_reason.is_some()),
            os(f.bot_reason.map(|r| r.as_str())),
            i(self.ts),
        ];
        Self::retry(|| {
            self.db.run(
                "INSERT INTO clicks (click_id, handle, slug, campaign_id, rule_id, variant_id, country, device, source, \
                 referrer_host, segment, bot, bot_reason, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                &args,
            )
        })
        .await
    }

    async fn write_aggregate(&self) -> ApiResult<()> {
        let f = &self.facts;
        let args = [
            s(self.handle.as_str()),
            s(&self.campaign),
            i(hour_floor(self.ts)),
            s(&self.slug),
            s(f.rule_id.as_deref().unwrap_or("")),
            s(&f.country),
            s(f.device.as_str()),
            s(&f.source),
            b(f.bot_reason.is_some()),
            i(self.ts),
        ];
        Self::retry(|| {
            self.db.run(
                "INSERT INTO click_aggregates (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, clicks, last_ts) \
                 VALUES (?,?,?,?,?,?,?,?,?,1,?) ON CONFLICT (handle, campaign_id, hour, slug, rule_id, country, device, source, bot) \
                 DO UPDATE SET clicks = clicks + 1, last_ts = max(last_ts, excluded.last_ts)",
                &args,
            )
        })
        .await
    }
}
