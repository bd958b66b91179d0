//! The queue consumer's side of webhooks: one try of one event for one
//! subscription. Each try is signed (Standard Webhooks) and logged in
//! `webhook_deliveries` with the body it sent; what happens next is decided
//! by `core::webhook::decide`: delivered (the subscription's failure streak
//! resets), retried on the jittered Standard Webhooks schedule or at the
//! receiver's `Retry-After`, the subscription disabled on `410 Gone`, or the
//! event exhausted (the streak grows; at `DISABLE_AFTER_EXHAUSTED` the
//! subscription is disabled).
//!
//! A retry is re-enqueued with `attempt + 1` and `not_before_ms`; a wait
//! longer than the queue's maximum delay (12 h) wakes early and hops again.

use crate::core::error::ApiResult;
use crate::core::ids::random_hex;
use crate::core::webhook::{
    decide, queue_delay_secs, sign, Next, Try, DISABLE_AFTER_EXHAUSTED, REASON_EXHAUSTED,
    REASON_GONE, TIMEOUT_MS,
};
use crate::edge::config::Config;
use crate::edge::db::{int, opt_int, opt_text, text, Db};
use crate::edge::http;
use crate::edge::queue::{self, Delivery, Job};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

#[derive(Deserialize)]
struct TargetRow {
    url: String,
    secret: String,
    disabled_at: Option<i64>,
}

enum TryResult {
    /// The status and the `Retry-After` header, if any.
    Status(u16, Option<String>),
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
    // Bound to a local so the borrow of `fetch` ends before `fetch` drops.
    let outcome = match futures_util::future::select(send, timeout).await {
        futures_util::future::Either::Left((Ok(resp), _)) => TryResult::Status(
            resp.status_code(),
            resp.headers().get("retry-after").ok().flatten(),
        ),
        futures_util::future::Either::Left((Err(e), _)) => TryResult::Failed(e.to_string()),
        futures_util::future::Either::Right(_) => {
            TryResult::Failed(format!("timed out after {TIMEOUT_MS} ms"))
        }
    };
    outcome
}

pub(crate) async fn deliver(db: &Db, env: &Env, cfg: &Config, d: &Delivery) -> ApiResult<()> {
    let now = http::now_ms();
    // Woken early by the queue's maximum delay (or its whole-second rounding
    // of a long wait): hop again, without a try or a log row.
    if d.not_before_ms > now + 1000 {
        let delay = queue_delay_secs(d.not_before_ms, now);
        return queue::send(env, Job::Webhook(d.clone()), delay).await;
    }
    let target = db
        .first::<TargetRow>(
            "SELECT url, secret, disabled_at FROM webhooks WHERE webhook_id = ? AND handle = ? AND deleted_at IS NULL",
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
    if target.disabled_at.is_some() {
        return log_try(
            db,
            d,
            "cancelled",
            None,
            0,
            Some("the webhook is disabled"),
            None,
        )
        .await;
    }
    let started = http::now_ms();
    let first_at = if d.first_at_ms > 0 {
        d.first_at_ms
    } else {
        started
    };
    let result = attempt(&target.url, &target.secret, d).await;
    let ended = http::now_ms();
    let latency = ended - started;
    let (status, retry_after, error) = match result {
        TryResult::Status(code, ra) => (
            Some(code),
            ra,
            (!(200..300).contains(&code)).then(|| format!("HTTP {code}")),
        ),
        TryResult::Failed(e) => (None, None, Some(e)),
    };
    let seed = format!("{}/{}/{}", d.event_id, d.webhook_id, d.attempt + 1);
    let t = Try {
        status,
        retry_after: retry_after.as_deref(),
        number: d.attempt,
        first_at_ms: first_at,
        now_ms: ended,
        redelivery: d.redelivery_of.is_some(),
    };
    let logged_status = status.map(i64::from);
    match decide(t, cfg.webhook_max_tries, cfg.webhook_retry_base_secs, &seed) {
        Next::Delivered => {
            log_try(db, d, "delivered", logged_status, latency, None, None).await?;
            db.run(
                "UPDATE webhooks SET failure_streak = 0 WHERE webhook_id = ? AND handle = ? AND failure_streak <> 0",
                &[text(&d.webhook_id), text(&d.handle)],
            )
            .await?;
            Ok(())
        }
        Next::Gone => {
            let msg = "HTTP 410 Gone: the webhook is now disabled";
            log_try(db, d, "failed", logged_status, latency, Some(msg), None).await?;
            db.run(
                "UPDATE webhooks SET disabled_reason = CASE WHEN disabled_at IS NULL THEN ?1 ELSE disabled_reason END, \
                 disabled_at = COALESCE(disabled_at, ?2) WHERE webhook_id = ?3 AND handle = ?4",
                &[text(REASON_GONE), int(ended), text(&d.webhook_id), text(&d.handle)],
            )
            .await?;
            Ok(())
        }
        Next::Retry { at_ms, retry_after } => {
            let next = Delivery {
                attempt: d.attempt + 1,
                first_at_ms: first_at,
                not_before_ms: at_ms,
                ..d.clone()
            };
            let now = http::now_ms();
            queue::send(env, Job::Webhook(next), queue_delay_secs(at_ms, now)).await?;
            let error = match (error, retry_after) {
                (Some(e), true) => Some(format!("{e} (Retry-After honoured)")),
                (e, _) => e,
            };
            log_try(
                db,
                d,
                "retrying",
                logged_status,
                latency,
                error.as_deref(),
                Some(at_ms),
            )
            .await
        }
        Next::Exhausted => {
            log_try(
                db,
                d,
                "failed",
                logged_status,
                latency,
                error.as_deref(),
                None,
            )
            .await?;
            if d.redelivery_of.is_none() {
                exhausted(db, d, ended).await?;
            }
            Ok(())
        }
    }
}

/// One more event in a row that exhausted its tries; the
/// `DISABLE_AFTER_EXHAUSTED`th disables the subscription. One statement, so
/// concurrent consumers count every event (SQLite evaluates every `SET`
/// expression against the row as it was).
async fn exhausted(db: &Db, d: &Delivery, now: i64) -> ApiResult<()> {
    db.run(
        "UPDATE webhooks SET failure_streak = failure_streak + 1, \
         disabled_at = CASE WHEN disabled_at IS NULL AND failure_streak + 1 >= ?1 THEN ?2 ELSE disabled_at END, \
         disabled_reason = CASE WHEN disabled_at IS NULL AND failure_streak + 1 >= ?1 THEN ?3 ELSE disabled_reason END \
         WHERE webhook_id = ?4 AND handle = ?5",
        &[
            int(DISABLE_AFTER_EXHAUSTED),
            int(now),
            text(REASON_EXHAUSTED),
            text(&d.webhook_id),
            text(&d.handle),
        ],
    )
    .await?;
    Ok(())
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
         latency_ms, error, next_attempt_at, body, redelivery_of, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
            text(&d.body),
            opt_text(d.redelivery_of.as_deref()),
            int(http::now_ms()),
        ],
    )
    .await?;
    Ok(())
}
