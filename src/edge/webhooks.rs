//! `…/webhooks`: subscriptions (create, list, get, delete, enable), the
//! delivery log and redelivery, and event emission. The queue consumer that
//! delivers is `webhook_delivery`.
//!
//! Emission only enqueues (one message per enabled subscription), so a slow
//! receiver never slows the API call that caused the event. A disabled
//! subscription gets no new events at all (nothing is queued or logged for
//! it) until it is enabled again.

use crate::core::error::{ApiError, ApiResult};
use crate::core::health::DisabledWebhook;
use crate::core::ids::{random_hex, Handle};
use crate::core::json::parse_object;
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::core::webhook::{new_secret, EventType, NewWebhook};
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, opt_text, text, Db};
use crate::edge::http::{self, read_body, Query, MAX_BODY};
use crate::edge::log;
use crate::edge::queue::{self, Delivery, Job};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

/// The columns `WebhookRow` reads.
const COLS: &str = "webhook_id, url, events_json, created_at, disabled_at, disabled_reason";

#[derive(Deserialize)]
struct WebhookRow {
    webhook_id: String,
    url: String,
    events_json: String,
    created_at: i64,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
}

impl WebhookRow {
    fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events_json).unwrap_or_default()
    }
    fn to_json(&self) -> Value {
        json!({"id": self.webhook_id, "url": self.url, "events": self.events(), "createdAt": rfc3339(self.created_at),
               "disabledAt": self.disabled_at.map(rfc3339), "disabledReason": self.disabled_reason})
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
            &format!("SELECT {COLS} FROM webhooks WHERE handle = ? AND webhook_id = ? AND deleted_at IS NULL"),
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
            &format!(
                "SELECT {COLS} FROM webhooks WHERE handle = ?1 AND deleted_at IS NULL \
             AND (?2 IS NULL OR webhook_id > ?2) ORDER BY webhook_id LIMIT ?3"
            ),
            &[
                text(h.as_str()),
                opt_text(page.after.as_deref()),
                int(i64::from(page.limit) + 1),
            ],
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

/// Re-enable a (disabled) webhook: new events reach it again and its streak
/// of exhausted events starts from zero. Enabling an enabled one is a no-op.
pub async fn enable(ctx: &Ctx, h: Handle, id: String) -> ApiResult<Response> {
    find(ctx, &h, &id).await?;
    ctx.db
        .run(
            "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failure_streak = 0 \
             WHERE handle = ? AND webhook_id = ? AND deleted_at IS NULL",
            &[text(h.as_str()), text(&id)],
        )
        .await?;
    http::ok(json!({"webhook": find(ctx, &h, &id).await?.to_json()}))
}

#[derive(Deserialize)]
struct LoggedBody {
    event_id: String,
    event_type: String,
    body: Option<String>,
}

/// Queue a logged delivery's event again: same body, same `webhook-id` (so
/// receivers deduplicate), fresh timestamp and signature. Tried once (no
/// retries, outside the failure streak); logged as a new delivery row with
/// `redeliveryOf`. 202: the try runs in the background like every delivery.
pub async fn redeliver(
    ctx: &Ctx,
    h: Handle,
    id: String,
    delivery_id: String,
) -> ApiResult<Response> {
    let hook = find(ctx, &h, &id).await?;
    let logged = ctx
        .db
        .first::<LoggedBody>(
            "SELECT event_id, event_type, body FROM webhook_deliveries WHERE handle = ? AND webhook_id = ? AND delivery_id = ?",
            &[text(h.as_str()), text(&id), text(&delivery_id)],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Delivery".into()))?;
    // Logged before bodies were kept (migration 0013): nothing to resend.
    let body = logged
        .body
        .ok_or_else(|| ApiError::NotFound("A stored body for this delivery".into()))?;
    if hook.disabled_at.is_some() {
        return Err(ApiError::WebhookDisabled(id));
    }
    let d = Delivery {
        webhook_id: id,
        handle: h.as_str().to_string(),
        event_id: logged.event_id,
        event_type: logged.event_type,
        attempt: 1,
        body,
        first_at_ms: 0,
        not_before_ms: 0,
        redelivery_of: Some(delivery_id.clone()),
    };
    let out = json!({"redelivery": {"webhookId": d.webhook_id, "eventId": d.event_id, "redeliveryOf": delivery_id, "status": "queued"}});
    queue::send(&ctx.env, Job::Webhook(d), 0).await?;
    http::json(202, &out)
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
    redelivery_of: Option<String>,
    created_at: i64,
}

pub async fn deliveries(ctx: &Ctx, req: &Request, h: Handle, id: String) -> ApiResult<Response> {
    find(ctx, &h, &id).await?;
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let rows = ctx
        .db
        .all::<DeliveryRow>(
            "SELECT delivery_id, event_id, event_type, attempt, outcome, response_status, latency_ms, error, next_attempt_at, redelivery_of, created_at \
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
                   "error": d.error, "nextAttemptAt": d.next_attempt_at.map(rfc3339), "redeliveryOf": d.redelivery_of,
                   "createdAt": rfc3339(d.created_at)})
        })
        .collect();
    http::ok(json!({"deliveries": out, "nextCursor": next}))
}

/// Enabled webhooks of the handle subscribed to a conversion event (the health check).
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

/// The handle's disabled webhooks (the health check).
pub async fn disabled_subscriptions(ctx: &Ctx, h: &Handle) -> ApiResult<Vec<DisabledWebhook>> {
    let rows = ctx
        .db
        .all::<WebhookRow>(
            &format!("SELECT {COLS} FROM webhooks WHERE handle = ? AND deleted_at IS NULL AND disabled_at IS NOT NULL ORDER BY webhook_id"),
            &[text(h.as_str())],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| DisabledWebhook {
            id: r.webhook_id,
            url: r.url,
            disabled_at_ms: r.disabled_at.unwrap_or_default(),
            reason: r.disabled_reason.unwrap_or_default(),
        })
        .collect())
}

/// The handle's enabled webhooks.
async fn subscribed(db: &Db, h: &Handle) -> ApiResult<Vec<WebhookRow>> {
    db.all::<WebhookRow>(
        &format!("SELECT {COLS} FROM webhooks WHERE handle = ? AND deleted_at IS NULL AND disabled_at IS NULL"),
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
            first_at_ms: 0,
            not_before_ms: 0,
            redelivery_of: None,
        };
        queue::send(env, Job::Webhook(d), 0).await?;
    }
    Ok(())
}
