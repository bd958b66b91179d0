//! The `CampaignRollup` Durable Object: one per `(handle, campaignId,
//! shard)`, keeping the funnel counters in its own SQLite storage. Every
//! event carries an id and is applied at most once (`applied` table), so
//! retries never double-count. All statements of one `apply` run
//! synchronously inside a single request, which Durable Objects commit
//! atomically. Its client (routing, retries, the outbox) is `rollup`.
//!
//! `POST /record` takes a flush of clicks from an isolate's buffer: it writes
//! their ledger rows to D1 first (`ledger::write`), then applies their events,
//! so the isolate makes one call per flush. A failure of either answers 503:
//! the isolate then writes the ledger and applies (or parks) the events
//! itself; both steps are idempotent (click ids, the write id).

use crate::core::click::{Click, LedgerRows};
use crate::core::collect;
use crate::core::funnel::{RollupEvent, Snapshot};
use crate::core::report::HourRow;
use crate::core::time::DAY_MS;
use crate::core::unique::{self, First};
use crate::edge::db::Db;
use crate::edge::ledger;
use crate::edge::rollup::WRITE_ID;
use crate::edge::rows::Rows;
use serde::Deserialize;
use serde_json::json;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, SqlStorage, SqlStorageValue,
    State,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS applied (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  dim TEXT NOT NULL, value TEXT NOT NULL,
  clicks INTEGER NOT NULL DEFAULT 0, bot_clicks INTEGER NOT NULL DEFAULT 0,
  conversions INTEGER NOT NULL DEFAULT 0, test_conversions INTEGER NOT NULL DEFAULT 0,
  last_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dim, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revenue (
  dim TEXT NOT NULL, value TEXT NOT NULL, currency TEXT NOT NULL, cents INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dim, value, currency)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visitors (
  key TEXT PRIMARY KEY, day INTEGER NOT NULL, first_json TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS visitors_by_day ON visitors (day);
";

/// Columns added to objects created before them (an error means: there).
const UPGRADES: [&str; 1] =
    ["ALTER TABLE counters ADD COLUMN unique_clicks INTEGER NOT NULL DEFAULT 0"];

#[durable_object]
pub struct CampaignRollup {
    sql: SqlStorage,
    env: Env,
}

impl DurableObject for CampaignRollup {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            crate::edge::log::event("rollup_schema_failed", &e.to_string());
        }
        for upgrade in UPGRADES {
            let _ = sql.exec(upgrade, None);
        }
        CampaignRollup { sql, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        let result = match (req.method(), path.as_str()) {
            (Method::Post, "/apply") => {
                let events: Vec<RollupEvent> = body(&mut req).await?;
                self.handle_apply(&events).map(|n| json!({"applied": n}))
            }
            (Method::Post, "/record") => {
                let write_id = req.headers().get(WRITE_ID)?.unwrap_or_default();
                let clicks: Vec<Click> = body(&mut req).await?;
                if let Err(e) = self.record_ledger(&clicks, &write_id).await {
                    return Response::error(format!("ledger: {e}"), 503);
                }
                let events = Click::rollup_events(&clicks);
                self.handle_apply(&events).map(|n| json!({"applied": n}))
            }
            (Method::Get, "/snapshot") => self
                .handle_snapshot()
                .and_then(|s| Ok(serde_json::to_value(s)?)),
            (Method::Get, "/series") => self.handle_series().map(|rows| json!(rows)),
            (Method::Post, "/reset") => self.handle_reset().map(|_| json!({"reset": true})),
            (Method::Post, "/pending") => {
                let ids: Vec<String> = body(&mut req).await?;
                self.handle_pending(&ids).map(|_| json!({"pending": true}))
            }
            (Method::Post, "/forget") => {
                let before: i64 = body(&mut req).await?;
                self.handle_forget(before)
                    .map(|_| json!({"forgotten": true}))
            }
            _ => return Response::error("not found", 404),
        };
        match result {
            Ok(v) => Response::from_json(&v),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}

/// A call's JSON body. Parsed by serde_json, which already has these types'
/// deserializers (buffered clicks, parked events), rather than by
/// `Request::json` (JS `JSON.parse`, then serde-wasm-bindgen: a second
/// deserializer per type, and a crossing into JS per field).
async fn body<T: serde::de::DeserializeOwned>(req: &mut Request) -> worker::Result<T> {
    Ok(serde_json::from_str(&req.text().await?)?)
}

#[derive(Deserialize)]
struct CounterRow {
    dim: String,
    value: String,
    clicks: i64,
    bot_clicks: i64,
    conversions: i64,
    test_conversions: i64,
    last_ms: i64,
    unique_clicks: i64,
}

#[derive(Deserialize)]
struct FirstRow {
    key: String,
    first_json: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct RevenueRow {
    dim: String,
    value: String,
    currency: String,
    cents: i64,
}

fn v_s(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

impl CampaignRollup {
    /// The ledger rows of a flush, in one D1 transaction (retried).
    async fn record_ledger(
        &self,
        clicks: &[Click],
        write_id: &str,
    ) -> crate::core::error::ApiResult<()> {
        if write_id.is_empty() {
            return Err(crate::core::error::ApiError::Internal("no write id".into()));
        }
        let rows = LedgerRows::of(clicks);
        if rows == LedgerRows::default() {
            return Ok(());
        }
        ledger::write(&Db::new(&self.env)?, &rows, write_id, None).await
    }

    /// Apply a batch in three statements whatever its size: claim the event
    /// ids (only the ones never seen come back), then upsert the summed
    /// counter and revenue deltas of the new events (`Snapshot::of_events`).
    /// The statements run synchronously in one request, which the object
    /// commits atomically: a batch is applied entirely or not at all.
    fn handle_apply(&self, events: &[RollupEvent]) -> worker::Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let ids = serde_json::to_string(&events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>())?;
        // The ids applied before (usually none: a retry or a replay), then
        // the claim of all of them; both in this one synchronous request, so
        // nothing can come between. Only the (rare) repeats cross into wasm,
        // not a row per event.
        let seen: Vec<IdRow> = self
            .sql
            .exec(
                "SELECT id FROM applied WHERE id IN (SELECT value FROM json_each(?))",
                vec![v_s(&ids)],
            )?
            .rows()?;
        self.sql.exec(
            "INSERT INTO applied (id) SELECT value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
            vec![v_s(&ids)],
        )?;
        // Whatever was announced as pending has now arrived.
        self.sql.exec(
            "DELETE FROM pending WHERE id IN (SELECT value FROM json_each(?))",
            vec![v_s(&ids)],
        )?;
        let mut done = collect::sorted_set(seen.iter().map(|r| r.id.as_str()));
        // `insert` is false for an id applied before, or repeated inside
        // the batch (it counts once).
        let new: Vec<&RollupEvent> = events
            .iter()
            .filter(|e| done.insert(e.id.as_str(), ()).is_none())
            .collect();
        let mut delta = Snapshot::of_events(new.iter().copied());
        delta.merge(&self.uniques(&new)?);
        let mut counters = Vec::new();
        let mut revenue = Vec::new();
        for (dim, values) in &delta.rows {
            for (value, c) in values {
                counters.push(json!([
                    dim,
                    value,
                    c.clicks,
                    c.bot_clicks,
                    c.conversions,
                    c.test_conversions,
                    c.last_ms,
                    c.unique_clicks
                ]));
                for (currency, cents) in &c.revenue {
                    revenue.push(json!([dim, value, currency, cents]));
                }
            }
        }
        if !counters.is_empty() {
            self.sql.exec(
                "INSERT INTO counters (dim, value, clicks, bot_clicks, conversions, test_conversions, last_ms, unique_clicks) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                 json_extract(value, '$[6]'), json_extract(value, '$[7]') FROM json_each(?) WHERE true \
                 ON CONFLICT (dim, value) DO UPDATE SET \
                 clicks = clicks + excluded.clicks, bot_clicks = bot_clicks + excluded.bot_clicks, \
                 conversions = conversions + excluded.conversions, \
                 test_conversions = test_conversions + excluded.test_conversions, \
                 unique_clicks = unique_clicks + excluded.unique_clicks, \
                 last_ms = max(last_ms, excluded.last_ms)",
                vec![v_s(&serde_json::Value::Array(counters).to_string())],
            )?;
        }
        if !revenue.is_empty() {
            self.sql.exec(
                "INSERT INTO revenue (dim, value, currency, cents) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]') FROM json_each(?) WHERE true \
                 ON CONFLICT (dim, value, currency) DO UPDATE SET cents = cents + excluded.cents",
                vec![v_s(&serde_json::Value::Array(revenue).to_string())],
            )?;
        }
        Ok(new.len())
    }

    fn read(&self, hours: bool) -> worker::Result<Snapshot> {
        let cond = if hours {
            "dim = 'hour'"
        } else {
            "dim != 'hour'"
        };
        let counters: Vec<CounterRow> = self
            .sql
            .exec(
                &format!("SELECT dim, value, clicks, bot_clicks, conversions, test_conversions, last_ms, unique_clicks FROM counters WHERE {cond}"),
                None,
            )?
            .rows()?;
        let revenue: Vec<RevenueRow> = self
            .sql
            .exec(
                &format!("SELECT dim, value, currency, cents FROM revenue WHERE {cond}"),
                None,
            )?
            .rows()?;
        let mut snap = Snapshot::default();
        for r in counters {
            let c = snap
                .rows
                .entry(r.dim)
                .or_default()
                .entry(r.value)
                .or_default();
            c.clicks = r.clicks;
            c.bot_clicks = r.bot_clicks;
            c.conversions = r.conversions;
            c.test_conversions = r.test_conversions;
            c.last_ms = r.last_ms;
            c.unique_clicks = r.unique_clicks;
        }
        for r in revenue {
            let c = snap
                .rows
                .entry(r.dim)
                .or_default()
                .entry(r.value)
                .or_default();
            c.revenue.insert(r.currency, r.cents);
        }
        Ok(snap)
    }

    fn handle_snapshot(&self) -> worker::Result<Snapshot> {
        let mut snap = self.read(false)?;
        let n: Vec<CountRow> = self
            .sql
            .exec("SELECT count(*) AS n FROM pending", None)?
            .rows()?;
        snap.pending = n.first().map(|r| r.n).unwrap_or(0);
        Ok(snap)
    }

    /// The unique-click deltas of newly applied events (`core::unique`),
    /// storing the firsts they change.
    fn uniques(&self, new: &[&RollupEvent]) -> worker::Result<Snapshot> {
        let keys: Vec<String> = new.iter().filter_map(|e| e.visitor_key()).collect();
        if keys.is_empty() {
            return Ok(Snapshot::default());
        }
        let rows: Vec<FirstRow> = self
            .sql
            .exec(
                "SELECT key, first_json FROM visitors WHERE key IN (SELECT value FROM json_each(?))",
                vec![v_s(&serde_json::to_string(&keys)?)],
            )?
            .rows()?;
        let stored: collect::SortedMap<String, First> = rows
            .into_iter()
            .filter_map(|r| Some((r.key, serde_json::from_str(&r.first_json).ok()?)))
            .collect();
        let (delta, changed) = unique::apply(new.iter().copied(), &stored);
        if !changed.is_empty() {
            let rows: Vec<serde_json::Value> = changed
                .iter()
                .map(|(k, f)| {
                    let day = f.ts - f.ts.rem_euclid(DAY_MS);
                    Ok(json!([k, day, serde_json::to_string(f)?]))
                })
                .collect::<serde_json::Result<_>>()?;
            self.sql.exec(
                "INSERT INTO visitors (key, day, first_json) SELECT json_extract(value, '$[0]'), \
                 json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?) WHERE true \
                 ON CONFLICT (key) DO UPDATE SET first_json = excluded.first_json",
                vec![v_s(&serde_json::Value::Array(rows).to_string())],
            )?;
        }
        Ok(delta)
    }

    /// Forget the firsts of days before `before` (their counts stay): only
    /// a click replayed days late could still need them.
    fn handle_forget(&self, before: i64) -> worker::Result<()> {
        self.sql.exec(
            "DELETE FROM visitors WHERE day < ?",
            vec![SqlStorageValue::from(before)],
        )?;
        Ok(())
    }

    /// Announce events on their way (not yet applied ones only).
    fn handle_pending(&self, ids: &[String]) -> worker::Result<()> {
        let ids = serde_json::to_string(ids)?;
        self.sql.exec(
            "INSERT INTO pending (id) SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM applied) \
             ON CONFLICT DO NOTHING",
            vec![v_s(&ids)],
        )?;
        Ok(())
    }

    fn handle_series(&self) -> worker::Result<Vec<HourRow>> {
        let snap = self.read(true)?;
        Ok(snap
            .rows
            .get("hour")
            .map(|m| {
                m.iter()
                    .filter_map(|(h, c)| {
                        h.parse::<i64>()
                            .ok()
                            .map(|hour| HourRow { hour, c: c.clone() })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    fn handle_reset(&self) -> worker::Result<()> {
        self.sql.exec("DELETE FROM applied", None)?;
        self.sql.exec("DELETE FROM counters", None)?;
        self.sql.exec("DELETE FROM revenue", None)?;
        self.sql.exec("DELETE FROM visitors", None)?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct CountRow {
    n: i64,
}
