//! `…/webhooks`: subscriptions, the delivery log, event emission, and the
//! queue consumer that delivers.
//!
//! Emission only enqueues (one message per subscription), so a slow receiver
//! never slows the API call that caused the event. The consumer signs each try
//! (Standard Webhooks), logs it in `webhook_deliveries`, and on a non-2xx or a
//! timeout re-enqueues the message with `attempt + 1` and an exponential delay,
//! up to `MAX_ATTEMPTS` tries.

use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{random_hex, Handle};
use crate::core::json::parse_object;
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::core::webhook::{backoff_secs, new_secret, sign, EventType, NewWebhook, MAX_ATTEMPTS};
use crate::edge::config::Config;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, opt_int, opt_text, text, Db};
use crate::edge::http::{self, read_body, Query, MAX_BODY};
use crate::edge::log;
use crate::edge::queue::{self, Delivery, Job};
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response};

/// Per-try timeout for a receiver.
const TIMEOUT_MS: u64 = 10_000;

#[derive(Deserialize)]
struct WebhookRow {
    webhook_id: String,
    url: String,
    events_json: String,
    created_at: i64,
}

impl WebhookRow {
    fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events_json).unwrap_or_default()
    }
    fn to_json(&self) -> Value {
        json!({"id": self.webhook_id, "url": self.url, "events": self.events(), "createdAt": rfc3339(self.created_at)})
    }
}

/// A queued delivery of one event to one subscription.
pub async fn create(ctx: &Ctx, req: &mut Request, h: Handle) -> ApiResult<Response> {
    let mut body = parse_object(&read_body(req, MAX_BODY).await?)?;
    http::ascii_urls(&mut body, &["url"]);
    let new = NewWebhook::parse(&body, ctx.cfg.allow_http_webhooks, &ctx.own_hosts())?;
    let id = format!("wh_{}", random_hex(8)?);
    let secret = new_secret()?;
    let events: Vec<&str> = new.events.iter().map(|e| e.as_str()).collect();
    let now = http::now_ms();
    let by = ctx
        .principal
        .as_ref()
        .map(|p| p.subject().to_string())
        .unwrap_or_default();
    ctx.db
        .run(
            "INSERT INTO webhooks (webhook_id, handle, url, events_json, secret, created_by, created_at) VALUES (?,?,?,?,?,?,?)",
            &[text(&id), text(h.as_str()), text(&new.url), text(&json!(events).to_string()), text(&secret), text(&by), int(now)],
        )
        .await?;
    let row = find(ctx, &h, &id).await?;
    http::created(json!({"webhook": row.to_json(), "secret": secret}))
}

async fn find(ctx: &Ctx, h: &Handle, id: &str) -> ApiResult<WebhookRow> {
    ctx.db
        .first::<WebhookRow>(
            "SELECT webhook_id, url, events_json, created_at FROM webhooks WHERE handle = ? AND webhook_id = ? AND deleted_at IS NULL",
            &[text(h.as_str()), text(id)],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Webhook".into()))
}

pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let rows = ctx
        .db
        .all::<WebhookRow>(
            "SELECT webhook_id, url, events_json, created_at FROM webhooks WHERE handle = ?1 AND deleted_at IS NULL \
             AND (?2 IS NULL OR webhook_id > ?2) ORDER BY webhook_id LIMIT ?3",
            &[text(h.as_str()), opt_text(page.after.as_deref()), int(i64::from(page.limit) + 1)],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.webhook_id.clone());
    http::ok(
        json!({"webhooks": items.iter().map(WebhookRow::to_json).collect::<Vec<_>>(), "nextCursor": next}),
    )
}

pub async fn get(ctx: &Ctx, h: Handle, id: String) -> ApiResult<Response> {
    http::ok(json!({"webhook": find(ctx, &h, &id).await?.to_json()}))
}

pub async fn delete(ctx: &Ctx, h: Handle, id: String) -> ApiResult<Response> {
    find(ctx, &h, &id).await?;
    ctx.db
        .run(
            "UPDATE webhooks SET deleted_at = ? WHERE handle = ? AND webhook_id = ?",
            &[int(http::now_ms()), text(h.as_str()), text(&id)],
        )
        .await?;
    http::no_content()
}

#[derive(Deserialize)]
struct DeliveryRow {
    delivery_id: String,
    event_id: String,
    event_type: String,
    attempt: i64,
    outcome: String,
    response_status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    next_attempt_at: Option<i64>,
    created_at: i64,
}

pub async fn deliveries(ctx: &Ctx, req: &Request, h: Handle, id: String) -> ApiResult<Response> {
    find(ctx, &h, &id).await?;
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let rows = ctx
        .db
        .all::<DeliveryRow>(
            "SELECT delivery_id, event_id, event_type, attempt, outcome, response_status, latency_ms, error, next_attempt_at, created_at \
             FROM webhook_deliveries WHERE handle = ?1 AND webhook_id = ?2 AND (?3 IS NULL OR delivery_id > ?3) \
             ORDER BY delivery_id LIMIT ?4",
            &[text(h.as_str()), text(&id), opt_text(page.after.as_deref()), int(i64::from(page.limit) + 1)],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.delivery_id.clone());
    let out: Vec<Value> = items
        .iter()
        .map(|d| {
            json!({"id": d.delivery_id, "eventId": d.event_id, "type": d.event_type, "attempt": d.attempt,
                   "outcome": d.outcome, "responseStatus": d.response_status, "latencyMs": d.latency_ms,
                   "error": d.error, "nextAttemptAt": d.next_attempt_at.map(rfc3339), "createdAt": rfc3339(d.created_at)})
        })
        .collect();
    http::ok(json!({"deliveries": out, "nextCursor": next}))
}

/// Webhooks of the handle subscribed to a conversion event (the health check).
pub async fn conversion_subscriptions(ctx: &Ctx, h: &Handle) -> ApiResult<usize> {
    Ok(subscribed(&ctx.db, h)
        .await?
        .iter()
        .filter(|r| {
            r.events()
                .iter()
                .any(|e| EventType::parse(e).is_some_and(EventType::is_conversion))
        })
        .count())
}

async fn subscribed(db: &Db, h: &Handle) -> ApiResult<Vec<WebhookRow>> {
    db.all::<WebhookRow>(
        "SELECT webhook_id, url, events_json, created_at FROM webhooks WHERE handle = ? AND deleted_at IS NULL",
        &[text(h.as_str())],
    )
    .await
}

/// Enqueue `event` for every subscription of the handle. Never fails the
/// caller: the event already happened; a failure to enqueue is logged.
/// Takes the environment and the D1 gateway rather than a request context:
/// the scheduled job emits too.
pub async fn emit(env: &Env, db: &Db, h: &Handle, event: EventType, data: Value) {
    if let Err(e) = try_emit(env, db, h, event, data).await {
        log::event(
            "webhook_emit_failed",
            &format!("{h} {}: {e}", event.as_str()),
        );
    }
}

async fn try_emit(env: &Env, db: &Db, h: &Handle, event: EventType, data: Value) -> ApiResult<()> {
    let subs: Vec<WebhookRow> = subscribed(db, h)
        .await?
        .into_iter()
        .filter(|r| r.events().iter().any(|e| e == event.as_str()))
        .collect();
    if subs.is_empty() {
        return Ok(());
    }
    let event_id = format!("evt_{}", random_hex(12)?);
    let body = json!({"id": event_id, "type": event.as_str(), "createdAt": rfc3339(http::now_ms()), "handle": h.as_str(), "data": data})
        .to_string();
    for sub in subs {
        let d = Delivery {
            webhook_id: sub.webhook_id,
            handle: h.as_str().to_string(),
            event_id: event_id.clone(),
            event_type: event.as_str().to_string(),
            attempt: 1,
            body: body.clone(),
        };
        queue::send(env, Job::Webhook(d), 0).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct TargetRow {
    url: String,
    secret: String,
}

enum TryResult {
    Status(u16),
    Failed(String),
}

async fn attempt(url: &str, secret: &str, d: &Delivery) -> TryResult {
    let ts = http::now_ms() / 1000;
    let headers = Headers::new();
    let set = || -> worker::Result<()> {
        headers.set("content-type", "application/json")?;
        headers.set("user-agent", "edge-funnel-webhooks/1")?;
        headers.set("webhook-id", &d.event_id)?;
        headers.set("webhook-timestamp", &ts.to_string())?;
        headers.set("webhook-signature", &sign(secret, &d.event_id, ts, &d.body))?;
        Ok(())
    };
    if let Err(e) = set() {
        return TryResult::Failed(e.to_string());
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&d.body)));
    let req = match Request::new_with_init(url, &init) {
        Ok(r) => r,
        Err(e) => return TryResult::Failed(e.to_string()),
    };
    let fetch = Fetch::Request(req);
    let send = Box::pin(fetch.send());
    let timeout = Box::pin(worker::Delay::from(std::time::Duration::from_millis(
        TIMEOUT_MS,
    )));
    let outcome = match futures_util::future::select(send, timeout).await {
        futures_util::future::Either::Left((Ok(resp), _)) => TryResult::Status(resp.status_code()),
        futures_util::future::Either::Left((Err(e), _)) => TryResult::Failed(e.to_string()),
        futures_util::future::Either::Right(_) => {
            TryResult::Failed(format!("timed out after {TIMEOUT_MS} ms"))
        }
    };
    outcome
}

pub(crate) async fn deliver(db: &Db, env: &Env, cfg: &Config, d: &Delivery) -> ApiResult<()> {
    let started = http::now_ms();
    let target = db
        .first::<TargetRow>(
            "SELECT url, secret FROM webhooks WHERE webhook_id = ? AND handle = ? AND deleted_at IS NULL",
            &[text(&d.webhook_id), text(&d.handle)],
        )
        .await?;
    let Some(target) = target else {
        return log_try(
            db,
            d,
            "cancelled",
            None,
            0,
            Some("the webhook was deleted"),
            None,
        )
        .await;
    };
    let result = attempt(&target.url, &target.secret, d).await;
    let latency = http::now_ms() - started;
    let (status, error) = match &result {
        TryResult::Status(code) => (
            Some(i64::from(*code)),
            (!(200..300).contains(code)).then(|| format!("HTTP {code}")),
        ),
        TryResult::Failed(e) => (None, Some(e.clone())),
    };
    if error.is_none() {
        return log_try(db, d, "delivered", status, latency, None, None).await;
    }
    if d.attempt >= MAX_ATTEMPTS {
        return log_try(db, d, "failed", status, latency, error.as_deref(), None).await;
    }
    let delay = backoff_secs(d.attempt, cfg.webhook_retry_base_secs);
    let next = Delivery {
        attempt: d.attempt + 1,
        ..d.clone()
    };
    queue::send(env, Job::Webhook(next), delay).await?;
    log_try(
        db,
        d,
        "retrying",
        status,
        latency,
        error.as_deref(),
        Some(http::now_ms() + i64::from(delay) * 1000),
    )
    .await
}

async fn log_try(
    db: &Db,
    d: &Delivery,
    outcome: &str,
    status: Option<i64>,
    latency: i64,
    error: Option<&str>,
    next_at: Option<i64>,
) -> ApiResult<()> {
    // Ids sort by time, so the log lists tries in order.
    let id = format!("dlv_{:013}_{}", http::now_ms(), random_hex(4)?);
    db.run(
        "INSERT INTO webhook_deliveries (delivery_id, webhook_id, handle, event_id, event_type, attempt, outcome, response_status, \
         latency_ms, error, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        &[
            text(&id),
            text(&d.webhook_id),
            text(&d.handle),
            text(&d.event_id),
            text(&d.event_type),
            int(i64::from(d.attempt)),
            text(outcome),
            opt_int(status),
            int(latency),
            opt_text(error),
            opt_int(next_at),
            int(http::now_ms()),
        ],
    )
    .await?;
    Ok(())
}
