//! `GET|HEAD /{handle}/{slug}`: the redirect. The hot path.
//!
//! Reads come from the isolate cache (one D1 round trip per link and per
//! handle's rules at most every `CACHE_TTL_MS`, both in parallel when cold);
//! the decision is the pure `core::redirect::decide`; the click is recorded
//! after the response is sent (`wait_until`), so the visitor never waits on
//! D1 or the rollup.

use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{Dims, EventKind, RollupEvent};
use crate::core::ids::{ClickId, Handle, Slug};
use crate::core::link::TrackingMode;
use crate::core::redirect::{decide, Incoming, LinkView, Packed};
use crate::core::rules::read_country;
use crate::core::time::hour_floor;
use crate::edge::cache::{self, LinkEntry};
use crate::edge::config::Config;
use crate::edge::db::{text, Db};
use crate::edge::http::{self, respond};
use crate::edge::jobs::Job;
use crate::edge::log;
use crate::edge::{faults, rollup, rules, Ctx};
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use worker::web_sys;
use worker::{Context, Env, Headers, MessageBuilder, Response};

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
            &[text(h), text(slug)],
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

/// The redirect through the async path: loads the link and the handle's
/// rules (isolate cache, else D1), then answers like `cached`.
pub async fn redirect(
    ctx: &Ctx,
    req: &web_sys::Request,
    query: Option<&str>,
    h: &Handle,
    slug: &Slug,
) -> ApiResult<Response> {
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
        log::event("rules_load_failed", &e.to_string());
        Rc::new(Vec::new())
    });
    let facts = visitor_facts(req, reads_cf(&link, &rules));
    let v = Packed::unpack(&facts);
    answer(
        &ctx.env, &ctx.wctx, &ctx.cfg, &v, query, h, slug, &link, &rules, now,
    )
    .map(Response::from)
}

/// Whether the visitor facts must include `request.cf`, which the runtime
/// parses on access (it costs more than the whole decision): only when the
/// click is recorded (country, bot signals) or a rule looks at the country.
fn reads_cf(link: &LinkEntry, rules: &[crate::core::rules::Rule]) -> bool {
    tracks(link) || read_country(rules)
}

fn tracks(link: &LinkEntry) -> bool {
    link.campaign_status.as_deref() == Some("ACTIVE") && link.policy.mode != TrackingMode::Off
}

/// The redirect without any await, when the link and the handle's rules are
/// both in the isolate cache (the steady state of a busy link): `None` when
/// something must be read first (the async path then serves the request).
/// One synchronous call from `src/entry.mjs`: no future, no Promise, no
/// microtask on the visitor's path.
pub fn cached(
    env: &Env,
    wctx: &Context,
    cfg: &Config,
    req: &web_sys::Request,
    query: Option<&str>,
    h: &Handle,
    slug: &Slug,
) -> Option<ApiResult<web_sys::Response>> {
    let now = http::now_ms();
    let link = cache::get_link(h.as_str(), slug.as_str(), now, cfg.cache_ttl_ms)?;
    let rules = cache::get_rules(h.as_str(), now, cfg.cache_ttl_ms)?;
    let facts = visitor_facts(req, link.as_ref().is_some_and(|l| reads_cf(l, &rules)));
    let v = Packed::unpack(&facts);
    // Other methods go to the async path, which answers 405.
    if v.method != "GET" && v.method != "HEAD" {
        return None;
    }
    Some(match link {
        None => Ok(not_found_page().into()),
        Some(link) => answer(env, wctx, cfg, &v, query, h, slug, &link, &rules, now),
    })
}

/// Decide, answer 302, and buffer the click for recording.
#[allow(clippy::too_many_arguments)]
fn answer(
    env: &Env,
    wctx: &Context,
    cfg: &Config,
    v: &Packed<'_>,
    query: Option<&str>,
    h: &Handle,
    slug: &Slug,
    link: &LinkEntry,
    rules: &[crate::core::rules::Rule],
    now: i64,
) -> ApiResult<web_sys::Response> {
    let tracking = tracks(link);
    let click_id = if link.policy.append_context_param || tracking {
        Some(ClickId::generate()?)
    } else {
        None
    };

    let inc = Incoming {
        user_agent: v.user_agent,
        referer: v.referer,
        query,
        country: v.country,
        is_head: v.method == "HEAD",
        ua_class: Some(cache::ua_class(v.user_agent)),
        verified_bot: v.verified_bot,
        bot_score: v.bot_score,
    };
    let view = LinkView {
        slug: slug.as_str(),
        destination_url: &link.destination_url,
        campaign_id: link.campaign_id.as_deref(),
        policy: &link.policy,
    };
    let d = decide(&view, rules, &inc, click_id.as_ref().map(|c| c.as_str()));

    let resp =
        redirect_302(&d.location).map_err(|e| ApiError::Internal(format!("Response: {e:?}")))?;

    if let (true, Some(id), Some(campaign)) = (tracking, click_id, link.campaign_id.clone()) {
        let f = d.facts;
        let job = ClickJob {
            handle: h.as_str().to_string(),
            slug: slug.as_str().to_string(),
            campaign,
            mode: link.policy.mode.as_str().to_string(),
            click_id: id.into_string(),
            country: f.country,
            device: f.device.as_str().to_string(),
            source: f.source,
            referrer_host: f.referrer_host,
            segment: f.segment,
            bot_reason: f.bot_reason.map(|r| r.as_str().to_string()),
            rule_id: f.rule_id,
            variant_id: f.variant_id,
            ts: now,
            attempt: 1,
        };
        match enqueue(job) {
            Flush::Covered => {}
            flush => {
                let (env, shards) = (env.clone(), cfg.rollup_shards);
                wctx.wait_until(async move {
                    match Db::new(&env) {
                        Ok(db) => flush_buffer(&env, &db, shards, flush).await,
                        Err(e) => log::event("click_batch_failed", &format!("no DB binding: {e}")),
                    }
                });
            }
        }
    }
    Ok(resp)
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "
export function visitor_facts(req, withCf) {
  const h = req.headers;
  const referer = h.get('referer');
  let country = '', verified = '', score = '';
  const cf = withCf ? req.cf : undefined;
  if (cf) {
    if (typeof cf.country === 'string') country = cf.country;
    const bm = cf.botManagement;
    if (bm) {
      if (bm.verifiedBot === true) verified = '1';
      if (typeof bm.score === 'number') score = String(bm.score);
    }
  }
  return `${req.method}\\n${h.get('user-agent') ?? ''}\\n${referer === null ? '\\0' : referer}\\n${country}\\n${verified}\\n${score}`;
}
export function redirect_302(location) {
  return new Response(null, {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' },
  });
}")]
extern "C" {
    /// `method \n user-agent \n referer|\0 \n country \n verifiedBot \n botScore`
    /// (see `core::redirect::Packed`); `request.cf` only when `with_cf`.
    fn visitor_facts(req: &web_sys::Request, with_cf: bool) -> String;
    /// The 302 in one call into the runtime (as a JS Worker would build it),
    /// instead of a `Headers` object, three `set`s and a `ResponseInit`.
    #[wasm_bindgen(catch)]
    fn redirect_302(location: &str) -> Result<web_sys::Response, wasm_bindgen::JsValue>;
}

/// A click to record after the response went out; also the queue message
/// that replays it when the ledger write failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClickJob {
    pub handle: String,
    pub slug: String,
    pub campaign: String,
    pub mode: String,
    pub click_id: String,
    pub country: String,
    pub device: String,
    pub source: String,
    pub referrer_host: Option<String>,
    pub segment: String,
    pub bot_reason: Option<String>,
    pub rule_id: Option<String>,
    pub variant_id: Option<String>,
    pub ts: i64,
    pub attempt: u32,
}

/// Replays give up after this many tries (with the capped backoff, ~3 h).
const MAX_REPLAYS: u32 = 200;

/// How long a click waits in the isolate's buffer before its batch is
/// written. The visitor never waits: this is all after the response.
const BATCH_WINDOW_MS: u64 = 200;
/// Largest batch per write (one D1 transaction, one rollup call per shard;
/// ~120 KB of JSON, far below D1's 2 MB per argument).
const MAX_BATCH: usize = 500;

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<ClickJob>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What the request that buffered a click must do about it.
enum Flush {
    /// A pending flush already covers it: nothing (no timer, no `waitUntil`).
    Covered,
    /// It opened the buffer: wait `BATCH_WINDOW_MS`, then write what is there.
    AfterWindow,
    /// It filled the buffer: write this batch now.
    Now(Vec<ClickJob>),
}

/// Buffer a click. Invariant: whenever the buffer holds clicks, the request
/// that opened it has a pending flush (under its `waitUntil`, which keeps
/// the isolate alive until the write is done), so no click is left behind
/// and only one request per window pays for a timer.
fn enqueue(job: ClickJob) -> Flush {
    BUFFER.with(|b| {
        let mut b = b.borrow_mut();
        b.push(job);
        match b.len() {
            1 => Flush::AfterWindow,
            n if n >= MAX_BATCH => Flush::Now(std::mem::take(&mut *b)),
            _ => Flush::Covered,
        }
    })
}

/// Write a full batch, or, after the window, everything buffered then. One
/// write per flush, never a loop: clicks buffered while this write is in
/// flight belong to the request that opened the buffer again (its own timer),
/// so every batch gathers a whole window (a loop here would keep draining
/// whatever arrived during its own previous write: tiny batches under load).
/// By the invariant of `enqueue`, the buffer never holds more than
/// `MAX_BATCH` clicks.
async fn flush_buffer(env: &Env, db: &Db, shards: u32, flush: Flush) {
    let batch = match flush {
        Flush::Covered => return,
        Flush::Now(batch) => batch,
        Flush::AfterWindow => {
            worker::Delay::from(std::time::Duration::from_millis(BATCH_WINDOW_MS)).await;
            BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()))
        }
    };
    if !batch.is_empty() {
        write_batch(env, db, shards, batch).await;
    }
}

async fn write_batch(env: &Env, db: &Db, shards: u32, jobs: Vec<ClickJob>) {
    let jobs: Vec<ClickJob> = jobs
        .into_iter()
        .filter(|j| j.mode != TrackingMode::Off.as_str())
        .collect();
    if jobs.is_empty() {
        return;
    }
    let written = async {
        if faults::active("d1_clicks") {
            return Err(crate::core::error::ApiError::Internal(
                "injected fault: d1_clicks".into(),
            ));
        }
        let mut last = Ok(());
        for attempt in 0..3u64 {
            if attempt > 0 {
                worker::Delay::from(std::time::Duration::from_millis(50 * attempt)).await;
            }
            // A D1 batch is one transaction: all rows or none, so a retry is safe.
            match db.batch(ledger_statements(db, &jobs)?).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Err(e),
            }
        }
        last
    }
    .await;
    if let Err(e) = written {
        log::event(
            "click_batch_failed",
            &format!("{} click(s): {e}; recording one by one", jobs.len()),
        );
        for j in jobs {
            record(env, db, shards, j).await;
        }
        return;
    }
    let mut by_campaign: std::collections::BTreeMap<(String, String), Vec<RollupEvent>> =
        std::collections::BTreeMap::new();
    for j in &jobs {
        by_campaign
            .entry((j.handle.clone(), j.campaign.clone()))
            .or_default()
            .push(rollup_event(j));
    }
    for ((handle, campaign), events) in by_campaign {
        if let Some(h) = Handle::parse(&handle) {
            rollup::apply_or_park(env, db, &h, &campaign, shards, events).await;
        }
    }
}

fn rollup_event(job: &ClickJob) -> RollupEvent {
    RollupEvent {
        id: job.click_id.clone(),
        kind: EventKind::Click,
        ts: job.ts,
        bot: job.bot_reason.is_some(),
        dims: Some(Dims {
            source: job.source.clone(),
            country: job.country.clone(),
            device: job.device.to_ascii_lowercase(),
            segment: job.segment.clone(),
            link: job.slug.clone(),
            rule: job.rule_id.clone(),
        }),
        value_cents: 0,
        currency: None,
        count: 1,
    }
}

/// Record one click: ledger first (a rollup count without a ledger row could
/// never be rebuilt), then the rollup. A ledger failure hands the click to the
/// job queue for replay; a rollup failure parks the event in the D1 outbox.
/// Used for replays and when a batch could not be written.
pub async fn record(env: &Env, db: &Db, shards: u32, job: ClickJob) {
    if job.mode == TrackingMode::Off.as_str() {
        return;
    }
    if let Err(e) = write_ledger(db, &job).await {
        log::event(
            "click_ledger_failed",
            &format!("{} {} (try {}): {e}", job.handle, job.click_id, job.attempt),
        );
        if job.attempt >= MAX_REPLAYS {
            log::event("click_lost", &format!("{} {}", job.handle, job.click_id));
            return;
        }
        let delay = (1u32 << job.attempt.min(6)).min(60);
        let next = Job::Click(ClickJob {
            attempt: job.attempt + 1,
            ..job.clone()
        });
        let queued = match env.queue("JOBS") {
            Ok(q) => q
                .send(MessageBuilder::new(next).delay_seconds(delay).build())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = queued {
            log::event(
                "click_lost",
                &format!(
                    "{} {}: could not enqueue replay: {e}",
                    job.handle, job.click_id
                ),
            );
        }
        return;
    }
    let Some(handle) = Handle::parse(&job.handle) else {
        return;
    };
    rollup::apply_or_park(
        env,
        db,
        &handle,
        &job.campaign,
        shards,
        vec![rollup_event(&job)],
    )
    .await;
}

async fn write_ledger(db: &Db, j: &ClickJob) -> ApiResult<()> {
    if faults::active("d1_clicks") {
        return Err(crate::core::error::ApiError::Internal(
            "injected fault: d1_clicks".into(),
        ));
    }
    let mut last = Ok(());
    for attempt in 0..3u64 {
        if attempt > 0 {
            worker::Delay::from(std::time::Duration::from_millis(50 * attempt)).await;
        }
        match db
            .batch(ledger_statements(db, std::slice::from_ref(j))?)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => last = Err(e),
        }
    }
    last
}

/// The ledger writes of a batch of clicks, whatever its size at most two
/// statements, each taking its rows as one JSON argument (`json_each`): click
/// rows (DIRECT; a replayed click id is ignored), and increments of hourly
/// aggregates (AGGREGATE_ONLY, no per-click row), summed per aggregate first.
fn ledger_statements(db: &Db, jobs: &[ClickJob]) -> ApiResult<Vec<worker::D1PreparedStatement>> {
    use serde_json::{json, Value};
    type AggKey<'a> = (
        &'a str,
        &'a str,
        i64,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        bool,
    );
    let mut rows = Vec::new();
    let mut aggregates: std::collections::BTreeMap<AggKey, (i64, i64)> = Default::default();
    for j in jobs {
        if j.mode == TrackingMode::AggregateOnly.as_str() {
            let key = (
                j.handle.as_str(),
                j.campaign.as_str(),
                hour_floor(j.ts),
                j.slug.as_str(),
                j.rule_id.as_deref().unwrap_or(""),
                j.country.as_str(),
                j.device.as_str(),
                j.source.as_str(),
                j.bot_reason.is_some(),
            );
            let a = aggregates.entry(key).or_insert((0, 0));
            a.0 += 1;
            a.1 = a.1.max(j.ts);
        } else {
            rows.push(json!([
                j.click_id,
                j.handle,
                j.slug,
                j.campaign,
                j.rule_id,
                j.variant_id,
                j.country,
                j.device,
                j.source,
                j.referrer_host,
                j.segment,
                i64::from(j.bot_reason.is_some()),
                j.bot_reason,
                j.ts
            ]));
        }
    }
    let mut stmts = Vec::new();
    if !rows.is_empty() {
        stmts.push(db.stmt(
            "INSERT INTO clicks (click_id, handle, slug, campaign_id, rule_id, variant_id, country, device, source, \
             referrer_host, segment, bot, bot_reason, ts) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
             json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
             json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
             json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
             json_extract(value, '$[12]'), json_extract(value, '$[13]') \
             FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
            &[text(&Value::Array(rows).to_string())],
        )?);
    }
    if !aggregates.is_empty() {
        let rows: Vec<Value> = aggregates
            .into_iter()
            .map(
                |((h, c, hour, slug, rule, country, device, source, bot), (n, last))| {
                    json!([
                        h,
                        c,
                        hour,
                        slug,
                        rule,
                        country,
                        device,
                        source,
                        i64::from(bot),
                        n,
                        last
                    ])
                },
            )
            .collect();
        stmts.push(db.stmt(
            "INSERT INTO click_aggregates (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, clicks, last_ts) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
             json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
             json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
             json_extract(value, '$[9]'), json_extract(value, '$[10]') FROM json_each(?) WHERE true \
             ON CONFLICT (handle, campaign_id, hour, slug, rule_id, country, device, source, bot) \
             DO UPDATE SET clicks = clicks + excluded.clicks, last_ts = max(last_ts, excluded.last_ts)",
            &[text(&Value::Array(rows).to_string())],
        )?);
    }
    Ok(stmts)
}
