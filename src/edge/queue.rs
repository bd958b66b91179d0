//! The `JOBS` queue's messages and the one way to send them. A leaf: its
//! producers (webhooks, click recording) and its consumer (`jobs`) import it,
//! it imports none of them.

use crate::core::click::Click;
use crate::core::error::ApiResult;
use crate::edge::rows::{from_row, RowError};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{Env, MessageBuilder};

/// One try of one webhook event for one subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub webhook_id: String,
    pub handle: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: u32,
    /// The exact JSON body; identical on every try so receivers can dedupe.
    pub body: String,
    /// When the first try ran (epoch ms): the retry schedule is anchored to
    /// it. 0 in messages queued before it existed (then: this try's time).
    #[serde(default)]
    pub first_at_ms: i64,
    /// Not before this time (epoch ms): a wait longer than the queue's
    /// maximum delay wakes early and hops again. 0: at once.
    #[serde(default)]
    pub not_before_ms: i64,
    /// A manual redelivery of this logged delivery (tried once).
    #[serde(default)]
    pub redelivery_of: Option<String>,
}

/// Sent as `{"kind": "webhook" | "click", ...payload fields}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Job {
    Webhook(Delivery),
    /// A click whose ledger write failed, replayed until D1 takes it.
    Click(Click),
}

impl Job {
    /// A received message's body. The `kind` tag picks the payload type, read
    /// by hand: a derived `Deserialize` for an internally tagged enum buffers
    /// the message through serde's `Content` (~20 KB of wasm for this one use).
    pub fn decode(body: JsValue) -> Result<Job, String> {
        let kind = js_sys::Reflect::get(&body, &JsValue::from_str("kind"))
            .ok()
            .and_then(|k| k.as_string());
        let e = |e: RowError| e.to_string();
        match kind.as_deref() {
            Some("webhook") => from_row(body).map(Job::Webhook).map_err(e),
            Some("click") => from_row(body).map(Job::Click).map_err(e),
            _ => Err("no known `kind`".into()),
        }
    }
}

/// Send one job, delivered after `delay_secs` (0: at once).
pub async fn send(env: &Env, job: Job, delay_secs: u32) -> ApiResult<()> {
    let q = env.queue("JOBS")?;
    if delay_secs == 0 {
        q.send(job).await?;
    } else {
        q.send(MessageBuilder::new(job).delay_seconds(delay_secs).build())
            .await?;
    }
    Ok(())
}
