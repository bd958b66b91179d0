//! Recording clicks: the isolate buffer and its batches, the ledger writes,
//! and replays through the queue when the ledger is down. The redirect hands
//! a click to `buffer` and never waits on any of this.
//!
//! A batch writes the ledger first (a rollup count without a ledger row
//! could never be rebuilt), then one rollup call per campaign. Everything is
//! idempotent by click id, so a retry or a replay never double-counts.

use crate::core::click::{Click, LedgerRows};
use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::RollupEvent;
use crate::core::ids::{random_hex, Handle};
use crate::core::link::TrackingMode;
use crate::edge::db::{int, opt_text, text, Db};
use crate::edge::queue::{self, Job};
use crate::edge::retry::retrying;
use crate::edge::{faults, http, log, rollup};
use serde_json::Value;
use std::collections::BTreeMap;
use worker::{Context, Env};

/// How long a click waits in the isolate's buffer before its batch is
/// written. The visitor never waits: this is all after the response.
const BATCH_WINDOW_MS: u64 = 200;
/// Largest batch per write (one D1 transaction, one rollup call per shard;
/// ~120 KB of JSON, far below D1's 2 MB per argument).
const MAX_BATCH: usize = 500;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/redirect.js")]
extern "C" {
    /// 0: covered by a pending flush; 1: flush after the window; 2: flush now.
    fn click_buffer_push(json: &str, instance: u32, max: usize) -> u8;
    fn click_buffer_take() -> Vec<String>;
    fn click_buffer_orphaned(instance: u32) -> bool;
    fn click_buffer_find(click_id: &str) -> Option<String>;
}

thread_local! {
    /// This wasm instance's id (a new one after a panic re-creates it).
    static INSTANCE: u32 = (js_sys::Math::random() * f64::from(u32::MAX)) as u32 | 1;
}

fn instance() -> u32 {
    INSTANCE.with(|i| *i)
}

/// A click still waiting in this isolate's buffer (not yet in the ledger).
pub fn buffered(handle: &str, click_id: &str) -> Option<Click> {
    click_buffer_find(click_id)
        .and_then(|json| serde_json::from_str::<Click>(&json).ok())
        .filter(|c| c.handle == handle)
}

/// How long a click can take to reach the ledger from another isolate's
/// buffer: its window plus a write.
pub const LEDGER_DELAY_MS: u64 = BATCH_WINDOW_MS + 300;

/// What the request that buffered a click must do about it.
enum Flush {
    /// A pending flush already covers it: nothing (no timer, no `waitUntil`).
    Covered,
    /// It opened the buffer: wait `BATCH_WINDOW_MS`, then write what is there.
    AfterWindow,
    /// It filled the buffer: write this batch now.
    Now(Vec<Click>),
}

/// Buffer a click for recording. Invariant: whenever the buffer holds
/// clicks, the request that opened it has a pending flush (under its
/// `waitUntil`, which keeps the isolate alive until the write is done), so
/// no click is left behind and only one request per window pays for a timer.
/// The buffer lives in JS (`src/redirect.js`): a panic that aborts this wasm
/// instance loses no buffered click; the next instance takes the flush over.
pub fn buffer(env: &Env, wctx: &Context, shards: u32, click: Click) {
    let json = match serde_json::to_string(&click) {
        Ok(j) => j,
        Err(e) => {
            log::event(
                "click_lost",
                &format!("{} {}: {e}", click.handle, click.click_id),
            );
            return;
        }
    };
    let flush = match click_buffer_push(&json, instance(), MAX_BATCH) {
        0 => Flush::Covered,
        1 => Flush::AfterWindow,
        _ => Flush::Now(take()),
    };
    schedule(env, wctx, shards, flush);
}

/// Every waiting click, parsed (a click that does not parse is logged lost).
fn take() -> Vec<Click> {
    click_buffer_take()
        .into_iter()
        .filter_map(|json| {
            serde_json::from_str(&json)
                .inspect_err(|e| {
                    log::event("click_lost", &format!("unreadable buffered click: {e}"))
                })
                .ok()
        })
        .collect()
}

/// Take over clicks a panicked instance left waiting (any request may call
/// this; it costs one call into JS when there are none).
pub fn adopt_orphans(env: &Env, wctx: &Context, shards: u32) {
    if click_buffer_orphaned(instance()) {
        log::event("click_buffer_adopted", "clicks left by an aborted instance");
        schedule(env, wctx, shards, Flush::Now(take()));
    }
}

fn schedule(env: &Env, wctx: &Context, shards: u32, flush: Flush) {
    if let Flush::Covered = flush {
        return;
    }
    let env = env.clone();
    wctx.wait_until(async move {
        match Db::new(&env) {
            Ok(db) => flush_buffer(&env, &db, shards, flush).await,
            Err(e) => log::event("click_batch_failed", &format!("no DB binding: {e}")),
        }
    });
}

/// Write a full batch, or, after the window, everything buffered then. One
/// write per flush, never a loop: clicks buffered while this write is in
/// flight belong to the request that opened the buffer again (its own timer),
/// so every batch gathers a whole window (a loop here would keep draining
/// whatever arrived during its own previous write: tiny batches under load).
/// By the invariant of `buffer`, the buffer never holds more than
/// `MAX_BATCH` clicks.
async fn flush_buffer(env: &Env, db: &Db, shards: u32, flush: Flush) {
    let batch = match flush {
        Flush::Covered => return,
        Flush::Now(batch) => batch,
        Flush::AfterWindow => {
            worker::Delay::from(std::time::Duration::from_millis(BATCH_WINDOW_MS)).await;
            take()
        }
    };
    if !batch.is_empty() {
        write_batch(env, db, shards, batch).await;
    }
}

async fn write_batch(env: &Env, db: &Db, shards: u32, batch: Vec<Click>) {
    let rows = LedgerRows::of(&batch);
    if rows == LedgerRows::default() {
        return;
    }
    let write_id = match random_hex(12) {
        Ok(hex) => format!("b:{hex}"),
        Err(e) => {
            log::event("click_batch_failed", &format!("no write id: {e}"));
            return;
        }
    };
    if let Err(e) = write_ledger(db, &rows, &write_id, None).await {
        log::event(
            "click_batch_failed",
            &format!("{} click(s): {e}; recording one by one", batch.len()),
        );
        // The batch may have committed anyway: each click remembers it, so
        // its own write adds no aggregate increment a second time.
        for click in batch {
            let click = Click {
                batch: Some(write_id.clone()),
                ..click
            };
            record(env, db, shards, click).await;
        }
        return;
    }
    let mut by_campaign: BTreeMap<(&str, &str), Vec<RollupEvent>> = BTreeMap::new();
    for c in batch.iter().filter(|c| c.mode != TrackingMode::Off) {
        by_campaign
            .entry((c.handle.as_str(), c.campaign.as_str()))
            .or_default()
            .push(c.rollup_event());
    }
    for ((handle, campaign), events) in by_campaign {
        if let Some(h) = Handle::parse(handle) {
            rollup::apply_or_park(env, db, &h, campaign, shards, events).await;
        }
    }
}

/// Record one click on its own: a replay from the queue, or a click of a
/// batch that could not be written. A ledger failure hands it to the queue
/// again (with backoff); a rollup failure parks its event in the outbox.
pub async fn record(env: &Env, db: &Db, shards: u32, click: Click) {
    let rows = LedgerRows::of(std::slice::from_ref(&click));
    if rows == LedgerRows::default() {
        return;
    }
    if let Err(e) = write_ledger(db, &rows, &click.write_id(), click.batch.as_deref()).await {
        log::event(
            "click_ledger_failed",
            &format!(
                "{} {} (try {}): {e}",
                click.handle, click.click_id, click.attempt
            ),
        );
        let Some((next, delay)) = click.next_replay() else {
            log::event(
                "click_lost",
                &format!("{} {}", click.handle, click.click_id),
            );
            return;
        };
        // Counted as pending until its replay reaches the rollup (announcing
        // it again on a later try changes nothing).
        if let Some(h) = Handle::parse(&click.handle) {
            let event = click.rollup_event();
            let ids = vec![(event.id.clone(), event.shard_key().to_string())];
            if let Err(e) = rollup::announce(env, &h, &click.campaign, shards, ids).await {
                log::event(
                    "click_pending_unannounced",
                    &format!("{h} {}: {e}", click.click_id),
                );
            }
        }
        if let Err(e) = queue::send(env, Job::Click(next), delay).await {
            log::event(
                "click_lost",
                &format!(
                    "{} {}: could not enqueue replay: {e}",
                    click.handle, click.click_id
                ),
            );
        }
        return;
    }
    if let Some(h) = Handle::parse(&click.handle) {
        rollup::apply_or_park(
            env,
            db,
            &h,
            &click.campaign,
            shards,
            vec![click.rollup_event()],
        )
        .await;
    }
}

/// The ledger rows in one D1 transaction (all rows or none, so a retry is
/// safe), at most three statements whatever the batch size, each taking its
/// rows as one JSON argument (`json_each`): click rows (a replayed click id
/// is ignored), and increments of hourly aggregates with the claim of
/// `write_id` — the increments only apply while neither `write_id` nor
/// `earlier` (the batch a click was first part of) is claimed, so a retry
/// of a write that did commit adds nothing.
async fn write_ledger(
    db: &Db,
    rows: &LedgerRows,
    write_id: &str,
    earlier: Option<&str>,
) -> ApiResult<()> {
    if faults::active("d1_clicks") {
        return Err(ApiError::Internal("injected fault: d1_clicks".into()));
    }
    if faults::active("d1_clicks_lost") {
        return Ok(());
    }
    retrying(|| async {
        let mut stmts = Vec::new();
        if !rows.clicks.is_empty() {
            stmts.push(db.stmt(
                "INSERT INTO clicks (click_id, handle, slug, campaign_id, rule_id, variant_id, country, device, source, \
                 referrer_host, segment, bot, bot_reason, ts, visitor, experiment_id) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                 json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
                 json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
                 json_extract(value, '$[12]'), json_extract(value, '$[13]'), json_extract(value, '$[14]'), \
                 json_extract(value, '$[15]') \
                 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
                &[text(&Value::from(rows.clicks.clone()).to_string())],
            )?);
        }
        if !rows.aggregates.is_empty() {
            stmts.push(db.stmt(
                "INSERT INTO click_aggregates (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, \
                 bot_reason, clicks, last_ts) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                 json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
                 json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]') \
                 FROM json_each(?) WHERE true \
                 AND NOT EXISTS (SELECT 1 FROM aggregate_writes WHERE write_id IN (?2, ?3)) \
                 ON CONFLICT (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, bot_reason) \
                 DO UPDATE SET clicks = clicks + excluded.clicks, last_ts = max(last_ts, excluded.last_ts)",
                &[
                    text(&Value::from(rows.aggregates.clone()).to_string()),
                    text(write_id),
                    opt_text(earlier),
                ],
            )?);
            stmts.push(db.stmt(
                "INSERT INTO aggregate_writes (write_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                &[text(write_id), int(http::now_ms())],
            )?);
        }
        db.batch(stmts).await?;
        if faults::active("d1_clicks_unacked") {
            return Err(ApiError::Internal("injected fault: d1_clicks_unacked (committed)".into()));
        }
        Ok(())
    })
    .await
}

/// Aggregate write ids are kept 7 days: far past the last replay of a click.
const WRITE_ID_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Drop aggregate write ids older than `WRITE_ID_TTL_MS` (scheduled).
pub async fn forget_old_writes(db: &Db, now: i64) -> ApiResult<()> {
    db.run(
        "DELETE FROM aggregate_writes WHERE created_at < ?",
        &[int(now - WRITE_ID_TTL_MS)],
    )
    .await
    .map(|_| ())
}
