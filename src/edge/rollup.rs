//! The client of the `CampaignRollup` Durable Objects (`rollup_object`):
//! events routed to their shard, applied with retries, parked in the D1
//! outbox while the objects are down and drained after; merged reads.

use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{shard_of, RollupEvent, Snapshot};
use crate::core::ids::Handle;
use crate::core::report::HourRow;
use crate::edge::db::{int, text, Db};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response};

/// The header carrying a `/record` call's write id (the claim under which
/// its aggregate increments apply once).
pub const WRITE_ID: &str = "x-write-id";

/// The rollup object of a campaign shard.
/// `{handle}/{campaign}/{shard}` (built by hand: once per tracked click).
pub fn object_name(h: &str, campaign: &str, shard: u32) -> String {
    let mut name = String::with_capacity(h.len() + campaign.len() + 12);
    name.push_str(h);
    name.push('/');
    name.push_str(campaign);
    name.push('/');
    crate::core::emit::int(&mut name, i64::from(shard));
    name
}

async fn call(
    env: &Env,
    name: &str,
    method: Method,
    path: &str,
    body: Option<JsValue>,
    write_id: Option<&str>,
) -> ApiResult<Response> {
    // A failing rollup object is a dependency outage: 503 for readers, the
    // outbox for writers. The detail goes to the log only.
    let unavailable = |detail: String| {
        crate::edge::log::event("rollup_unavailable", &format!("{name}{path}: {detail}"));
        ApiError::Unavailable
    };
    if crate::edge::faults::active("rollup")
        || ((path == "/apply" || path == "/record") && crate::edge::faults::active("rollup_writes"))
    {
        return Err(unavailable("injected fault: rollup".into()));
    }
    let stub = env
        .durable_object("ROLLUP")
        .and_then(|ns| ns.get_by_name(name))
        .map_err(|e| unavailable(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(b));
    }
    if let Some(id) = write_id {
        let headers = worker::Headers::new();
        headers.set(WRITE_ID, id)?;
        init.with_headers(headers);
    }
    let req = Request::new_with_init(&format!("https://rollup{path}"), &init)?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if resp.status_code() != 200 {
        return Err(unavailable(format!("answered {}", resp.status_code())));
    }
    Ok(resp)
}

/// Apply events to a campaign's rollup shards. Idempotent per event id.
pub async fn apply(
    env: &Env,
    h: &Handle,
    campaign: &str,
    shards: u32,
    events: Vec<RollupEvent>,
) -> ApiResult<()> {
    let mut by_shard: Vec<Vec<RollupEvent>> = (0..shards.max(1)).map(|_| Vec::new()).collect();
    for ev in events {
        let k = shard_of(ev.shard_key(), shards) as usize;
        if let Some(bucket) = by_shard.get_mut(k) {
            bucket.push(ev);
        }
    }
    for (k, evs) in by_shard.into_iter().enumerate() {
        for chunk in evs.chunks(500) {
            let body =
                serde_json::to_string(chunk).map_err(|e| ApiError::Internal(e.to_string()))?;
            call(
                env,
                &object_name(h.as_str(), campaign, k as u32),
                Method::Post,
                "/apply",
                Some(JsValue::from_str(&body)),
                None,
            )
            .await?;
        }
    }
    Ok(())
}

/// Record a flush's clicks of one rollup object in one call: the object
/// writes their ledger rows (one D1 transaction, aggregate increments claimed
/// under `write_id`), then applies their events. `body` is the JSON array of
/// the clicks (`core::click::Click`), as buffered. An error means the caller
/// must do both itself (each is idempotent, so what the object did is not
/// done twice).
pub async fn record(env: &Env, object: &str, write_id: &str, body: JsValue) -> ApiResult<()> {
    call(
        env,
        object,
        Method::Post,
        "/record",
        Some(body),
        Some(write_id),
    )
    .await
    .map(|_| ())
}

/// Announce events that are accepted but on their way (a click replayed
/// through the queue): counted as `pending` until they are applied. Each id
/// comes with its event's shard key (`RollupEvent::shard_key`).
pub async fn announce(
    env: &Env,
    h: &Handle,
    campaign: &str,
    shards: u32,
    ids: Vec<(String, String)>,
) -> ApiResult<()> {
    let mut by_shard: Vec<Vec<String>> = (0..shards.max(1)).map(|_| Vec::new()).collect();
    for (id, shard_key) in ids {
        let k = shard_of(&shard_key, shards) as usize;
        if let Some(bucket) = by_shard.get_mut(k) {
            bucket.push(id);
        }
    }
    for (k, ids) in by_shard
        .into_iter()
        .enumerate()
        .filter(|(_, ids)| !ids.is_empty())
    {
        let body = serde_json::to_string(&ids).map_err(|e| ApiError::Internal(e.to_string()))?;
        call(
            env,
            &object_name(h.as_str(), campaign, k as u32),
            Method::Post,
            "/pending",
            Some(JsValue::from_str(&body)),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Apply with a few retries; the event id makes retries safe.
pub async fn apply_retrying(
    env: &Env,
    h: &Handle,
    campaign: &str,
    shards: u32,
    events: Vec<RollupEvent>,
) -> ApiResult<()> {
    crate::edge::retry::retrying(|| apply(env, h, campaign, shards, events.clone())).await
}

/// One GET from every shard of a campaign, in parallel.
async fn read_shards<T: serde::de::DeserializeOwned>(
    env: &Env,
    h: &Handle,
    campaign: &str,
    shards: u32,
    path: &str,
) -> ApiResult<Vec<T>> {
    let reads = (0..shards.max(1)).map(|k| async move {
        let mut resp = call(
            env,
            &object_name(h.as_str(), campaign, k),
            Method::Get,
            path,
            None,
            None,
        )
        .await?;
        Ok::<T, ApiError>(resp.json().await?)
    });
    futures_util::future::try_join_all(reads).await
}

/// The merged snapshot of all shards.
pub async fn snapshot(env: &Env, h: &Handle, campaign: &str, shards: u32) -> ApiResult<Snapshot> {
    let mut total = Snapshot::default();
    for s in read_shards::<Snapshot>(env, h, campaign, shards, "/snapshot").await? {
        total.merge(&s);
    }
    Ok(total)
}

pub async fn series(env: &Env, h: &Handle, campaign: &str, shards: u32) -> ApiResult<Vec<HourRow>> {
    Ok(
        read_shards::<Vec<HourRow>>(env, h, campaign, shards, "/series")
            .await?
            .concat(),
    )
}

/// Forget unique-visitor firsts of days before `before` in every shard.
pub async fn forget_visitors(
    env: &Env,
    h: &Handle,
    campaign: &str,
    shards: u32,
    before: i64,
) -> ApiResult<()> {
    for k in 0..shards.max(1) {
        let name = object_name(h.as_str(), campaign, k);
        call(
            env,
            &name,
            Method::Post,
            "/forget",
            Some(JsValue::from_str(&before.to_string())),
            None,
        )
        .await?;
    }
    Ok(())
}

pub async fn reset(env: &Env, h: &Handle, campaign: &str, shards: u32) -> ApiResult<()> {
    for k in 0..shards.max(1) {
        call(
            env,
            &object_name(h.as_str(), campaign, k),
            Method::Post,
            "/reset",
            None,
            None,
        )
        .await?;
    }
    Ok(())
}

// ---- the outbox: events parked while the rollup was failing ---------------

thread_local! {
    /// Whether this isolate may have parked events (true at start: another
    /// isolate may have left some).
    static OUTBOX_PENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Apply (with retries); if the rollup stays down, park the events in D1 so a
/// later drain applies them. The events are already in the ledger.
pub async fn apply_or_park(
    env: &Env,
    db: &Db,
    h: &Handle,
    campaign: &str,
    shards: u32,
    events: Vec<RollupEvent>,
) {
    match apply_retrying(env, h, campaign, shards, events.clone()).await {
        Ok(()) => drain_if_pending(env, db, shards).await,
        Err(e) => {
            crate::edge::log::event(
                "rollup_apply_failed",
                &format!("{h} {campaign}: {e}; parking {} event(s)", events.len()),
            );
            OUTBOX_PENDING.with(|p| p.set(true));
            for ev in events {
                let json = serde_json::to_string(&ev).unwrap_or_default();
                let parked = db
                    .run(
                        "INSERT INTO rollup_outbox (event_id, handle, campaign_id, event_json, created_at) VALUES (?,?,?,?,?) \
                         ON CONFLICT DO NOTHING",
                        &[text(&ev.id), text(h.as_str()), text(campaign), text(&json), int(ev.ts)],
                    )
                    .await;
                if let Err(e) = parked {
                    crate::edge::log::event(
                        "rollup_event_unparked",
                        &format!("{h} {campaign} {}: {e} (rebuild restores it)", ev.id),
                    );
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct OutboxRow {
    event_id: String,
    handle: String,
    campaign_id: String,
    event_json: String,
}

/// Apply parked events if this isolate may have any.
pub async fn drain_if_pending(env: &Env, db: &Db, shards: u32) {
    if OUTBOX_PENDING.with(|p| p.get()) {
        match drain(env, db, shards).await {
            Ok(done) if done => OUTBOX_PENDING.with(|p| p.set(false)),
            Ok(_) => {}
            Err(e) => crate::edge::log::event("rollup_drain_failed", &e.to_string()),
        }
    }
}

/// Apply up to 500 parked events; `Ok(true)` when the outbox is empty after.
pub async fn drain(env: &Env, db: &Db, shards: u32) -> ApiResult<bool> {
    let rows = db
        .all::<OutboxRow>("SELECT event_id, handle, campaign_id, event_json FROM rollup_outbox ORDER BY created_at LIMIT 500", &[])
        .await?;
    let n = rows.len();
    let mut groups: crate::core::collect::SortedMap<(String, String), Vec<OutboxRow>> =
        crate::core::collect::SortedMap::new();
    for r in rows {
        groups
            .entry((r.handle.clone(), r.campaign_id.clone()))
            .or_default()
            .push(r);
    }
    for ((handle, campaign), rows) in groups {
        let Some(h) = Handle::parse(&handle) else {
            continue;
        };
        let events: Vec<RollupEvent> = rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.event_json).ok())
            .collect();
        apply(env, &h, &campaign, shards, events).await?;
        for r in &rows {
            db.run(
                "DELETE FROM rollup_outbox WHERE event_id = ?",
                &[text(&r.event_id)],
            )
            .await?;
        }
    }
    Ok(n < 500)
}
