//! Recording clicks: the isolate buffer and its batches, the ledger writes,
//! and replays through the queue when the ledger is down. The redirect hands
//! a click to `buffer` and never waits on any of this.
//!
//! A flush is one call per rollup object (campaign shard) concerned: the
//! object writes the ledger rows first (a rollup count without a ledger row
//! could never be rebuilt), then applies the events (`rollup_object`). When
//! that call fails, the isolate writes the ledger itself and applies or
//! parks the events (the outbox). Everything is idempotent by click id (and
//! write id for aggregates), so a retry, a fallback or a replay never
//! double-counts.

use crate::core::click::{Click, LedgerRows};
use crate::core::error::ApiResult;
use crate::core::funnel::shard_of;
use crate::core::ids::{random_hex, Handle};
use crate::edge::db::{int, Db};
use crate::edge::queue::{self, Job};
use crate::edge::{ledger, log, rollup};
use wasm_bindgen::JsValue;
use worker::{Context, Env};

/// How long a click waits in the isolate's buffer before its batch is
/// written. The visitor never waits: this is all after the response.
const BATCH_WINDOW_MS: u64 = 200;
/// Largest batch per flush (one rollup call per campaign shard, each one D1
/// transaction; ~120 KB of JSON, far below D1's 2 MB per argument).
const MAX_BATCH: usize = 500;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/redirect.js")]
extern "C" {
    /// 0: covered by a pending flush; 1: flush now; n ≥ 2: flush window n
    /// after the batching window.
    fn click_buffer_push(json: &str, object: &str, instance: u32, max: usize) -> u32;
    /// `[object, body, …]`: each body the JSON array of that object's clicks;
    /// with a window, only while that window is open.
    fn click_buffer_take(window: Option<u32>) -> js_sys::Array;
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
    /// It opened the buffer (window n): wait `BATCH_WINDOW_MS`, then write
    /// what is there, unless a full buffer closed that window first.
    AfterWindow(u32),
    /// It filled the buffer: write these groups now.
    Now(Vec<Group>),
}

/// Buffer a click for recording. Invariant: whenever the buffer holds
/// clicks, the request that opened it has a pending flush (under its
/// `waitUntil`, which keeps the isolate alive until the write is done), so
/// no click is left behind and only one request per window pays for a timer.
/// The buffer lives in JS (`src/redirect.js`): a panic that aborts this wasm
/// instance loses no buffered click; the next instance takes the flush over.
/// Clicks are grouped there by the rollup object that records them.
pub fn buffer(env: &Env, wctx: &Context, shards: u32, click: Click) {
    let object = rollup::object_name(
        &click.handle,
        &click.campaign,
        shard_of(click.shard_key(), shards),
    );
    let json = click.to_json();
    let flush = match click_buffer_push(&json, &object, instance(), MAX_BATCH) {
        0 => Flush::Covered,
        1 => Flush::Now(take(None)),
        window => Flush::AfterWindow(window),
    };
    schedule(env, wctx, shards, flush);
}

/// The clicks of one rollup object, as buffered: the object's name and the
/// JSON array of its clicks (a JS string, never copied into wasm unless the
/// object cannot take it).
struct Group {
    object: String,
    body: JsValue,
}

/// Every waiting click, by rollup object (with a window: only while that
/// window is open).
fn take(window: Option<u32>) -> Vec<Group> {
    let taken = click_buffer_take(window);
    let mut groups = Vec::new();
    let mut i = 0;
    while i + 1 < taken.length() {
        if let Some(object) = taken.get(i).as_string() {
            groups.push(Group {
                object,
                body: taken.get(i + 1),
            });
        }
        i += 2;
    }
    groups
}

/// A group's clicks, parsed (only when the rollup object could not take
/// them; a click that does not parse is logged lost).
fn parse(body: &JsValue) -> Vec<Click> {
    let json = body.as_string().unwrap_or_default();
    serde_json::from_str(&json)
        .inspect_err(|e| log::event("click_lost", &format!("unreadable buffered clicks: {e}")))
        .unwrap_or_default()
}

/// Take over clicks a panicked instance left waiting (any request may call
/// this; it costs one call into JS when there are none).
pub fn adopt_orphans(env: &Env, wctx: &Context, shards: u32) {
    if click_buffer_orphaned(instance()) {
        log::event("click_buffer_adopted", "clicks left by an aborted instance");
        schedule(env, wctx, shards, Flush::Now(take(None)));
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
/// For the same reason a window's timer takes nothing once a full buffer
/// closed its window early: what arrived since is the next window's, under
/// that window's own timer (a stale timer taking it had made a batch of a
/// handful of clicks after every full one). By the invariant of `buffer`,
/// the buffer never holds more than `MAX_BATCH` clicks.
async fn flush_buffer(env: &Env, db: &Db, shards: u32, flush: Flush) {
    let groups = match flush {
        Flush::Covered => return,
        Flush::Now(groups) => groups,
        Flush::AfterWindow(window) => {
            worker::Delay::from(std::time::Duration::from_millis(BATCH_WINDOW_MS)).await;
            take(Some(window))
        }
    };
    if groups.is_empty() {
        return;
    }
    let base = match random_hex(12) {
        Ok(hex) => format!("b:{hex}"),
        Err(e) => {
            log::event("click_batch_failed", &format!("no write id: {e}"));
            return;
        }
    };
    let mut recorded = false;
    for (k, group) in groups.into_iter().enumerate() {
        // One id per group: each group's aggregate increments are claimed
        // under their own write id, by the object or by the fallback.
        let write_id = format!("{base}:{k}");
        match rollup::record(env, &group.object, &write_id, group.body.clone()).await {
            Ok(()) => recorded = true,
            Err(e) => {
                log::event(
                    "click_record_failed",
                    &format!("{}: {e}; writing the ledger here", group.object),
                );
                write_batch(env, db, shards, parse(&group.body), &write_id).await;
            }
        }
    }
    if recorded {
        rollup::drain_if_pending(env, db, shards).await;
    }
}

/// A group the rollup object could not take: the ledger from here (under
/// the same write id, so rows the object did write are not added twice),
/// then the events applied or parked in the outbox.
async fn write_batch(env: &Env, db: &Db, shards: u32, batch: Vec<Click>, write_id: &str) {
    let rows = LedgerRows::of(&batch);
    if rows == LedgerRows::default() {
        return;
    }
    if let Err(e) = ledger::write(db, &rows, write_id, None).await {
        log::event(
            "click_batch_failed",
            &format!("{} click(s): {e}; recording one by one", batch.len()),
        );
        // The batch may have committed anyway: each click remembers it, so
        // its own write adds no aggregate increment a second time.
        for click in batch {
            let click = Click {
                batch: Some(write_id.to_string()),
                ..click
            };
            record(env, db, shards, click).await;
        }
        return;
    }
    // A group is one campaign's.
    let events = Click::rollup_events(&batch);
    if let Some(c) = batch.first() {
        if let Some(h) = Handle::parse(&c.handle) {
            rollup::apply_or_park(env, db, &h, &c.campaign, shards, events).await;
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
    if let Err(e) = ledger::write(db, &rows, &click.write_id(), click.batch.as_deref()).await {
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
